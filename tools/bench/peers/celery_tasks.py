"""The peers benchmark's Celery tasks (imported by the Celery worker it starts and by the benchmark)."""
import os
import time

from celery import Celery

app = Celery("scaler_peers", broker=os.environ["PEERS_REDIS_URL"], backend=os.environ["PEERS_REDIS_URL"])
app.conf.update(worker_prefetch_multiplier=64, task_acks_late=False, result_expires=600,
                worker_hijack_root_logger=False)


@app.task
def noop(x):
    return x


@app.task
def sleep_ms(ms):
    time.sleep(ms / 1000.0)
    return ms
