# The deployment image: the official Airflow image plus this project's runtime lock
# (requirements.lock: Airflow, its providers, the drivers and the DAGs' libraries; no test tool,
# no local mode), the runtime set the test suite runs on. The test suites that packages ship
# inside themselves (pandas/tests, scipy/*/tests …, 130 MB) are removed in the same layer.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.lock /opt/airflow/requirements.lock
RUN pip install --no-cache-dir -r /opt/airflow/requirements.lock \
 && for packages in $(python -c "import site, sysconfig; print(site.getusersitepackages(), sysconfig.get_path('purelib'))"); do \
      if [ -d "$packages" ]; then find "$packages" -mindepth 2 -type d -name tests -prune -exec rm -rf {} +; fi; \
    done

# The code is baked in for a self-contained image; docker-compose.yml also mounts these
# folders so edits show up without a rebuild.
COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
COPY --chown=airflow:root include/ /opt/airflow/include/
COPY --chown=airflow:root dashboards/dashboard.html.j2 /opt/airflow/dashboards/dashboard.html.j2

ENV ECOMMERCE_DATA_DIR=/opt/airflow/data
