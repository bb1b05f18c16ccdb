-- Nothing reads facts by status alone, and the index cost 40% of a million-line day's insert.
drop index if exists warehouse.fact_sales_status_idx;
