# The deployment image: the official Airflow image plus this project's locked dependencies,
# so containers run the very package set the test suite ran (requirements.lock).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir -r /opt/airflow/requirements.lock

# The code is baked in for a self-contained image; docker-compose.yml also mounts these
# folders so edits show up without a rebuild.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
COPY --chown=airflow:root dashboards/dashboard.html.j2 /opt/airflow/dashboards/dashboard.html.j2

ENV ECOMMERCE_DATA_DIR=/opt/airflow/data
