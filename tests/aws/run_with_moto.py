#!/usr/bin/env python3
"""Run a test binary against a real moto server, with signature checking switched on.

1. Starts `python -m moto.server` (this interpreter's moto) on a free port.
2. Creates an IAM role allowed to do everything and assumes it (moto does not check
   requests yet), giving temporary credentials: an ASIA key, a secret and a session token.
3. Switches moto's IAM authentication on (POST /moto-api/reset-auth 0): from then on moto
   recomputes every request's SigV4 signature with botocore and rejects mismatches, unknown
   keys and wrong session tokens.
4. Runs the binary with AWS_ENDPOINT_URL, the temporary credentials and a region in its
   environment (HOME points at an empty folder so no real profile is read).
5. Stops moto whatever happened and exits with the binary's exit code.

Usage: run_with_moto.py BINARY [ARGS...]
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

# moto imports its whole service catalogue on start; give it time on a busy 2-core machine.
STARTUP_TIMEOUT_S = 60
# The binary's own limit is CTest's TIMEOUT; this only bounds a hung child if run by hand.
TEST_TIMEOUT_S = 600
REGION = "us-east-1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(url, process):
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/moto-api/data.json", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"moto did not answer at {url} within {STARTUP_TIMEOUT_S}s")


def temporary_credentials(endpoint):
    import boto3  # the same interpreter that runs moto has boto3

    setup = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="AKIASETUPSETUPSETUP0",
                 aws_secret_access_key="setup-secret")
    iam = boto3.client("iam", **setup)
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="rollback-test", AssumeRolePolicyDocument=json.dumps(trust))
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName="rollback-test", PolicyName="all", PolicyDocument=json.dumps(allow_all))
    creds = boto3.client("sts", **setup).assume_role(RoleArn=role["Role"]["Arn"],
                                                     RoleSessionName="rollback-integration")["Credentials"]
    return creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]


def enable_authentication(endpoint):
    # text/plain: with urllib's default form content type the server parses the body as a form
    # and moto reads an empty body.
    request = urllib.request.Request(endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def stop(process):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def on_terminate(signum, _frame):
    # Turn SIGTERM (CTest stopping the test, a CI cancel) into an exception so `finally`
    # stops moto. (A SIGKILL cannot be caught; CTest's kill also reaches moto as our child.)
    raise SystemExit(128 + signum)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, on_terminate)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="moto-", suffix=".log", delete=False)
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_ready(endpoint, moto)
        key, secret, token = temporary_credentials(endpoint)
        enable_authentication(endpoint)
        with tempfile.TemporaryDirectory(prefix="rollback-aws-it-") as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update({
                "HOME": home,
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": key,
                "AWS_SECRET_ACCESS_KEY": secret,
                "AWS_SESSION_TOKEN": token,
                "AWS_REGION": REGION,
                "ROLLBACK_MOTO_ENDPOINT": endpoint,
            })
            print(f"moto at {endpoint}, IAM authentication on, temporary key {key}", flush=True)
            result = subprocess.run(sys.argv[1:], env=env, timeout=TEST_TIMEOUT_S)
            code = result.returncode if result.returncode >= 0 else 128 - result.returncode
    except Exception as e:  # report, then make sure moto stops
        print(f"run_with_moto.py: {e}", file=sys.stderr)
        code = 1
    finally:
        stop(moto)
        log.close()
    if code != 0:
        with open(log.name, encoding="utf-8", errors="replace") as f:
            tail = f.read()[-4000:]
        print(f"--- last lines of the moto log ({log.name})\n{tail}", file=sys.stderr)
    else:
        os.unlink(log.name)
    return code


if __name__ == "__main__":
    sys.exit(main())
