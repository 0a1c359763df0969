"""Local fakes of the endpoints AWS sign-in talks to, on a loopback port, for the differential
credential tests: STS (AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity; Query protocol),
the IAM Identity Center portal (GET /federation/credentials), the ECS/EKS container credentials
endpoint and EC2 instance metadata (IMDSv2).

Credentials are derived deterministically from every input that matters (the role, the session
name, the external id, the MFA serial and code, the caller's access key and session token, the
web identity token, the SSO bearer token), so two clients that send the same request get the
same keys and any difference in what they send shows up as different keys. Generated session
names (botocore-session-<epoch>) are normalised, since the two clients run at different times.
Every request is recorded in `requests`.
"""

import datetime
import hashlib
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMDS_TOKEN = "imds-session-token-0123456789"
IMDS_ROLE = "bastion-role"
SSO_EXPIRED_ON_SERVER = "token-the-portal-refuses"
CREDENTIAL_LIFETIME = datetime.timedelta(hours=1)


def derive(kind, *parts):
    digest = hashlib.sha256("|".join((kind,) + tuple(parts)).encode()).hexdigest()
    return {"AccessKeyId": "ASIA" + digest[:16].upper(), "SecretAccessKey": digest[16:56],
            "SessionToken": "FwoGZX" + digest + kind}


def expiry(seconds=None):
    when = datetime.datetime.now(datetime.timezone.utc) + (
        datetime.timedelta(seconds=seconds) if seconds else CREDENTIAL_LIFETIME)
    return when.replace(microsecond=0)


class FakeSignIn:
    def __init__(self):
        self.requests = []
        self.container_authorization = None  # when set, the container endpoint requires it
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, content_type="application/json"):
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def record(self, **extra):
                entry = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                entry.update(extra)
                with fake.lock:
                    fake.requests.append(entry)
                return entry

            def do_PUT(self):
                self.record()
                if self.path == "/latest/api/token" and self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
                    return self.reply(200, IMDS_TOKEN, "text/plain")
                self.reply(400, "bad token request", "text/plain")

            def do_GET(self):
                self.record()
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/federation/credentials":
                    token = self.headers.get("x-amz-sso_bearer_token", "")
                    if not token or token == SSO_EXPIRED_ON_SERVER:
                        return self.reply(401, json.dumps({"message": "Session token not found or invalid"}))
                    c = derive("sso", query.get("role_name", ""), query.get("account_id", ""), token)
                    ms = int(expiry().timestamp() * 1000)
                    return self.reply(200, json.dumps({"roleCredentials": {
                        "accessKeyId": c["AccessKeyId"], "secretAccessKey": c["SecretAccessKey"],
                        "sessionToken": c["SessionToken"], "expiration": ms}}))
                if url.path.startswith("/container"):
                    auth = self.headers.get("Authorization")
                    if fake.container_authorization is not None and auth != fake.container_authorization:
                        return self.reply(401, json.dumps({"message": "bad authorization"}))
                    c = derive("container", url.path, auth or "")
                    return self.reply(200, json.dumps({
                        "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                        "Token": c["SessionToken"], "Expiration": expiry().strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "RoleArn": "arn:aws:iam::111122223333:role/task"}))
                if url.path.startswith("/latest/meta-data/iam/security-credentials/"):
                    if self.headers.get("x-aws-ec2-metadata-token") != IMDS_TOKEN:
                        return self.reply(401, "", "text/plain")
                    role = url.path[len("/latest/meta-data/iam/security-credentials/"):]
                    if not role:
                        return self.reply(200, IMDS_ROLE, "text/plain")
                    c = derive("imds", role)
                    return self.reply(200, json.dumps({
                        "Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": c["AccessKeyId"],
                        "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"],
                        "Expiration": expiry().strftime("%Y-%m-%dT%H:%M:%SZ")}))
                self.reply(404, json.dumps({"message": "not found"}))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                auth = self.headers.get("Authorization", "")
                match = re.search(r"Credential=([^/]+)/", auth)
                caller = match.group(1) if match else ""
                entry = self.record(form=form, caller=caller)
                action = form.get("Action")
                session = re.sub(r"^botocore-session-\d+$", "botocore-session-N", form.get("RoleSessionName", ""))
                if action == "AssumeRole":
                    if not caller:
                        return self.sts_error(403, "MissingAuthenticationToken", "the request must be signed")
                    token = self.headers.get("X-Amz-Security-Token", "")
                    c = derive("assume-role", form.get("RoleArn", ""), session, form.get("ExternalId", "-"),
                               form.get("DurationSeconds", "-"), form.get("SerialNumber", "-"),
                               form.get("TokenCode", "-"), caller, hashlib.sha256(token.encode()).hexdigest())
                    when = expiry(int(form["DurationSeconds"]) if "DurationSeconds" in form else None)
                    return self.assumed(action, form, c, when)
                if action == "AssumeRoleWithWebIdentity":
                    if caller:
                        entry["signed"] = True
                        return self.sts_error(400, "InvalidAction", "AssumeRoleWithWebIdentity must be unsigned here")
                    c = derive("web-identity", form.get("RoleArn", ""), session, form.get("WebIdentityToken", ""))
                    return self.assumed(action, form, c, expiry())
                if action == "GetCallerIdentity":
                    body = ("<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x"
                            "</Arn><UserId>AIDX</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
                            "</GetCallerIdentityResponse>")
                    return self.reply(200, body, "text/xml")
                self.sts_error(400, "InvalidAction", f"unknown action {action}")

            def assumed(self, action, form, c, when):
                account = (form.get("RoleArn", "").split(":") + [""] * 5)[4]
                role = form.get("RoleArn", "").rsplit("/", 1)[-1]
                body = (f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>'
                        f'<Credentials><AccessKeyId>{c["AccessKeyId"]}</AccessKeyId>'
                        f'<SecretAccessKey>{c["SecretAccessKey"]}</SecretAccessKey>'
                        f'<SessionToken>{c["SessionToken"]}</SessionToken>'
                        f'<Expiration>{when.strftime("%Y-%m-%dT%H:%M:%SZ")}</Expiration></Credentials>'
                        f'<AssumedRoleUser><Arn>arn:aws:sts::{account}:assumed-role/{role}/{form.get("RoleSessionName", "")}'
                        f'</Arn><AssumedRoleId>AROAFAKE:{form.get("RoleSessionName", "")}</AssumedRoleId></AssumedRoleUser>'
                        f'</{action}Result><ResponseMetadata><RequestId>fake-1</RequestId></ResponseMetadata>'
                        f'</{action}Response>')
                self.reply(200, body, "text/xml")

            def sts_error(self, status, code, message):
                body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                        f"</Error><RequestId>fake-err</RequestId></ErrorResponse>")
                self.reply(status, body, "text/xml")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def take(self):
        with self.lock:
            out, self.requests = self.requests, []
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
