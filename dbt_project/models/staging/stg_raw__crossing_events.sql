-- Line crossings, one row per event, with the event time named for what it is.
with source as (
    select * from {{ source('raw', 'crossing_events') }}
)

select
    event_id,
    time as crossed_at,
    camera_id,
    line_id,
    track_run_id,
    track_id,
    direction,
    class_name,
    confidence::double precision as confidence,
    ingest_seq,
    ingested_at
from source
