-- Daily stream health rollup per camera and site-local day: samples received versus expected at
-- the camera's own health interval (dark days included, with 0 samples), and stream problems.
with source as (
    select * from {{ source('rollup', 'stream_health_daily') }}
)

select
    day as local_date,
    site_id,
    camera_id,
    samples,
    expected_samples,
    e2e_ms_p95_max as max_e2e_ms_p95,
    queue_depth_max as max_queue_depth,
    dropped_frames,
    reconnects,
    computed_at
from source
