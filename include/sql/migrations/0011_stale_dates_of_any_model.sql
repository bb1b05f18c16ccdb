-- The models that take stale dates are declared in their own files (made_stale_by) and the
-- dimensions queue dates for exactly those (ecommerce.models.stale_models): the list of names
-- the check kept by hand goes.
alter table if exists warehouse.stale_dates drop constraint if exists stale_dates_model_check;
