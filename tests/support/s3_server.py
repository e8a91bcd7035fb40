"""moto's S3-compatible server on loopback, with real credential checks (IAM auth on).

``INITIAL_NO_AUTH_ACTION_COUNT`` lets the first calls (creating a user, its key and its policy)
through unsigned; every request after that must be signed with a key the server issued.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'


@dataclass
class S3Server:
    url: str
    key_id: str
    secret: str

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )


@contextmanager
def moto_s3(bucket: str = "lp-sync"):
    import boto3

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start")
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="sync")
        key = iam.create_access_key(UserName="sync")["AccessKey"]
        iam.put_user_policy(UserName="sync", PolicyName="s3", PolicyDocument=POLICY)
        server = S3Server(url, key["AccessKeyId"], key["SecretAccessKey"])
        server.client().create_bucket(Bucket=bucket)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=10)
