"""The tests' fake OpenAI API (tests/fake_openai.py) as a compose service for run.sh.

Listens on 0.0.0.0:8000 and plays every new fine-tuning job forward: running, "Step N/10"
every 3 s, then succeeded with a fine-tuned model name.
"""
import sys
import threading
import time
from http.server import ThreadingHTTPServer

sys.path.insert(0, "/app")  # the app image: /app holds tests/
from tests import fake_openai  # noqa: E402

fake = fake_openai.FakeOpenAI(api_key="sk-compose-check")
server = ThreadingHTTPServer(("0.0.0.0", 8000), fake_openai._make_handler(fake))
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print("fake OpenAI on :8000", flush=True)
played: set[str] = set()
while True:
    time.sleep(1)
    for job_id in list(fake.jobs):
        if job_id in played:
            continue
        played.add(job_id)
        for n in range(1, 11):
            time.sleep(3)
            fake.step(job_id, n, 10, estimated_finish=int(time.time()) + 3 * (10 - n))
        job = fake.succeed(job_id, trained_tokens=54_321)
        print("succeeded", job["fine_tuned_model"], flush=True)
