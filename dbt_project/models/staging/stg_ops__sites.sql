-- Sites, renamed for the marts.
with source as (
    select * from {{ source('ops', 'sites') }}
)

select
    site_id,
    name as site_name,
    timezone,
    updated_at
from source
