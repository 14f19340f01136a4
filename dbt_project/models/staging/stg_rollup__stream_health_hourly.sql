-- Hourly stream health rollup: samples received and stream quality per camera.
with source as (
    select * from {{ source('rollup', 'stream_health_hourly') }}
)

select
    bucket as bucket_utc,
    camera_id,
    samples,
    quality_avg as mean_quality,
    e2e_ms_p95_max as max_e2e_ms_p95,
    queue_depth_max as max_queue_depth,
    dropped_frames,
    reconnects,
    computed_at
from source
