-- production.categories: every category named by the date's product snapshot.
insert into production.categories (category_name)
select distinct trim(category)
from staging.products
where batch_date = %(business_date)s and nullif(trim(category), '') is not null
on conflict (category_name) do nothing;
