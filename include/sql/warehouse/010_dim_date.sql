-- warehouse.dim_date: the calendar of the business date's whole year, added once.
insert into warehouse.dim_date (
    date_key, date, day_of_month, day_of_week, day_name, week_of_year, month, month_name,
    quarter, year, is_weekend, is_month_end
)
select
    warehouse.date_key(day::date),
    day::date,
    extract(day from day),
    extract(isodow from day),
    trim(to_char(day, 'Day')),
    extract(week from day),
    extract(month from day),
    trim(to_char(day, 'Month')),
    extract(quarter from day),
    extract(year from day),
    extract(isodow from day) in (6, 7),
    day::date = (date_trunc('month', day) + interval '1 month - 1 day')::date
from generate_series(
    date_trunc('year', %(business_date)s::date),
    date_trunc('year', %(business_date)s::date) + interval '1 year - 1 day',
    interval '1 day'
) as day
on conflict (date_key) do nothing;
