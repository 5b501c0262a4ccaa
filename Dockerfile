# The project image for Airflow, the shim and the DAGs' tasks (docker-compose.yaml). CPU torch by default.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/nerloop
COPY requirements.txt requirements-triton.txt constraints.txt ./
RUN pip install --no-cache-dir torch==2.14.1 torchvision==0.29.1 \
    && pip install --no-cache-dir -r requirements.txt -c constraints.txt
COPY . .
ENV PYTHONPATH=/opt/nerloop NERLOOP_HOME=/opt/nerloop AIRFLOW_CONFIG=/opt/nerloop/airflow.cfg HF_HUB_OFFLINE=1
