-- production.brands: every brand named by the date's product snapshot.
insert into production.brands (brand_name)
select distinct trim(brand)
from staging.products
where batch_date = %(business_date)s and nullif(trim(brand), '') is not null
on conflict (brand_name) do nothing;
