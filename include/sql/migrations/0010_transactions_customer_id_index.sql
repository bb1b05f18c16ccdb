-- A customer's orders are indexed by the customer alone (the order time beside it was never
-- asked for, and cost a tenth of a million-line day's order insert); the schema files create
-- transactions_customer_id_idx.
drop index if exists production.transactions_customer_idx;
