# The project image for Airflow, the shim and the DAGs' tasks (docker-compose.yaml). CPU torch by default.
# Runs as the unprivileged `nerloop` user (uid/gid 50000); the code it runs is root's and read-only to it.
# .dockerignore keeps a checkout's .state (secrets, databases), virtualenvs, .git and caches out of it.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends curl libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 50000 nerloop \
    && useradd --uid 50000 --gid 50000 --create-home --home-dir /home/nerloop --shell /bin/bash nerloop
WORKDIR /opt/nerloop
COPY requirements.txt requirements-triton.txt requirements-img2table.txt constraints.txt ./
# img2table with --no-deps after the stack: its contrib `cv2` replaces the headless one's files
# (requirements-img2table.txt says why).
RUN pip install --no-cache-dir torch==2.14.1 torchvision==0.29.1 \
    && pip install --no-cache-dir -r requirements.txt -c constraints.txt \
    && pip install --no-cache-dir --no-deps -r requirements-img2table.txt
COPY . .
# What the user writes: its state folder (Airflow logs, bundles) and the model repository volume's mount
# point (a fresh named volume takes this owner).
RUN mkdir -p /opt/nerloop/.state /models \
    && chown nerloop:nerloop /opt/nerloop/.state /models \
    && chmod 700 /opt/nerloop/.state
ENV PYTHONPATH=/opt/nerloop NERLOOP_HOME=/opt/nerloop AIRFLOW_CONFIG=/opt/nerloop/airflow.cfg HF_HUB_OFFLINE=1 \
    HOME=/home/nerloop
USER 50000:50000
