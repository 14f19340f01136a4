{#- A multi-column foreign key: every non-null `columns` combination in the model exists in `to`
    (e.g. camera_id + line_id, since line ids are only unique within a camera). -#}
{% test relationships_combination(model, to, columns) %}
{%- set key = columns | join(', ') %}
-- Key combinations of the model that the referenced model lacks
select distinct {{ key }}
from {{ model }} as child
where {% for column in columns %}child.{{ column }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
  and not exists (
      select 1
      from {{ to }} as parent
      where {% for column in columns %}parent.{{ column }} = child.{{ column }}{% if not loop.last %} and {% endif %}{% endfor %}
  )
{% endtest %}
