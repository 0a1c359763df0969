#!/usr/bin/env python3
"""Generate SigV4 test vectors by signing seeded random requests with botocore itself.

The C++ signer (src/aws/sigv4.cpp) is checked against these at test time
(tests/unit/test_aws_sigv4.cpp, run by CTest as aws.sigv4_botocore_vectors), so the
expected values come from the reference implementation, not from hand-written strings.

Requests are built the way botocore's serializers build them: the path is
percent_encode(raw_path, safe='/~') (how an S3 {Key+} label is rendered) and the query is
percent_encode_sequence(params). Each vector holds the raw inputs too, so the C++ test also
checks that its own URL building signs identically.

Usage: gen_sigv4_vectors.py --out FILE [--count N] [--seed S]
"""

import argparse
import datetime
import json
import random
import sys

try:
    import botocore
    from botocore import auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    from botocore.utils import percent_encode, percent_encode_sequence
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit(f"gen_sigv4_vectors.py: botocore is required ({e}); run it with the Python that has boto3/botocore")

SERVICES = ["ecs", "s3", "s3", "s3", "dynamodb", "sts"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "eu-central-1", "cn-north-1", "us-gov-west-1"]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD"]

S3_KEYS = [
    "terraform.tfstate",
    "api/terraform.tfstate",
    "api/terraform.tfstate.tflock",
    "env:/dev/api/terraform.tfstate",
    "env:/prod/api/terraform.tfstate.tflock",
    "env:/staging/api/terraform.tfstate-md5",
    "a b/c d.txt",
    "plus+sign/and=equals",
    "percent%20literal/100%",
    "tilde~/under_score/dash-dot.",
    "unicode/\u00e9t\u00e9/\u65e5\u672c\u8a9e/\U0001F600.json",
    "double//slash///key",
    "/leading-slash",
    "trailing/",
    "./dot/../segments/./x",
    "special !\"#$&'()*,;<>?@[\\]^`{|}",
    "colon:semi;comma,",
    "",
]
BUCKETS = ["tfstate-bucket", "my.dotted.bucket", "rollback-test-123", "a-b-c"]

# Characters that exercise the encoders: unreserved, reserved, spaces, '%', unicode.
SEGMENT_ALPHABET = list("abcXYZ019-_.~ +=%:@!$&'()*,;") + ["\u00e9", "\u4e2d", "\U0001F680", "/", "//"]

QUERY_KEYS = ["versionId", "prefix", "key-marker", "version-id-marker", "max-keys", "delimiter", "encoding-type",
              "Action", "Version", "a", "A", "b", "z", "list-type", "x y", "k+1", "\u00fc", "~tilde", "uploads",
              "partNumber", "_", "-"]
QUERY_VALUES = ["", "1", "1000", "null", "url", "env:/dev/api/terraform.tfstate", "env%3A/dev", "a b", "a+b",
                "a=b", "a&b", "100%", "~._-", "\u00e9\u00e8", "\U0001F600", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
                "Zq.tQAa6rUj0kJmvTC3wCtEjd0rpjdsA", "GetCallerIdentity", "2011-06-15", "/", "//", "?", "#frag"]

HEADER_POOL = [
    ("Content-Type", ["application/json", "application/x-amz-json-1.1", "application/x-amz-json-1.0",
                      "text/plain; charset=utf-8", "application/x-www-form-urlencoded; charset=utf-8"]),
    ("X-Amz-Meta-Note", ["  leading and trailing  ", "many    inner     spaces", "tab\there", "plain"]),
    ("x-amz-meta-Mixed-Case", ["Value With Caps", "a\t\tb"]),
    ("If-None-Match", ["*"]),
    ("If-Match", ['"9b2cf535f27731c974343645a3985328"']),
    ("Content-MD5", ["1B2M2Y8AsgTpgAmY7PhCfg=="]),
    ("User-Agent", ["rollback/0.1 (unsigned header)"]),
    ("X-Amzn-Trace-Id", ["Root=1-5759e988-bd862e3fe1be46a994272793"]),
    ("Expect", ["100-continue"]),
    ("Range", ["bytes=0-1023"]),
    ("X-Amz-Server-Side-Encryption", ["AES256", "aws:kms"]),
    ("Accept", ["application/json", "*/*"]),
    ("My-Header1", ["value1", "  value2  value3  "]),
]

BODIES = [
    b"",
    b"{}",
    b'{"cluster":"prod","service":"api","taskDefinition":"api:41","forceNewDeployment":true}',
    b'{"TableName":"tf-locks","Key":{"LockID":{"S":"bucket/env:/dev/api/terraform.tfstate-md5"}}}',
    b"Action=GetCallerIdentity&Version=2011-06-15",
    '{"version": 4, "serial": 12, "lineage": "\u00e9\u00e8"}'.encode("utf-8"),
    b"\n  whitespace body \t\n",
]

JSON_TARGETS = {"ecs": ("AmazonEC2ContainerServiceV20141113", "application/x-amz-json-1.1",
                        ["UpdateService", "DescribeServices", "ListTaskDefinitions"]),
                "dynamodb": ("DynamoDB_20120810", "application/x-amz-json-1.0", ["PutItem", "GetItem", "DeleteItem"])}


class CapturingMixin:
    """Records the canonical request and string to sign that add_auth() computes."""

    def canonical_request(self, request):
        value = super().canonical_request(request)
        self.captured_canonical_request = value
        return value

    def string_to_sign(self, request, canonical_request):
        value = super().string_to_sign(request, canonical_request)
        self.captured_string_to_sign = value
        return value


class CapturingSigV4(CapturingMixin, auth.SigV4Auth):
    pass


class CapturingS3SigV4(CapturingMixin, auth.S3SigV4Auth):
    pass


def random_string(rng, alphabet, lo, hi):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def random_access_key(rng, temporary):
    return ("ASIA" if temporary else "AKIA") + random_string(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16)


def random_secret(rng):
    return random_string(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40, 40)


def random_token(rng):
    return random_string(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", 100, 400)


def random_endpoint(rng, service, region, bucket):
    style = rng.random()
    if style < 0.55:
        if service == "s3":
            if rng.random() < 0.4 and "." not in bucket:
                return f"https://{bucket}.s3.{region}.amazonaws.com", True
            return f"https://s3.{region}.amazonaws.com", False
        return f"https://{service}.{region}.amazonaws.com", False
    return rng.choice([
        "http://127.0.0.1:5000",
        "http://localhost:4566",
        "https://LocalHost.Example:8443",
        "https://example.com:443",
        "http://example.com:80",
        "http://[::1]:9000",
        "https://vpce-0123-abcd.ecs.eu-west-1.vpce.amazonaws.com",
    ]), False


def random_raw_path(rng, service, bucket, virtual_hosted):
    if service == "s3":
        pick = rng.random()
        if pick < 0.6:
            key = rng.choice(S3_KEYS)
        elif pick < 0.9:
            key = random_string(rng, SEGMENT_ALPHABET, 1, 12)
        else:
            key = ""  # bucket-level request (ListObjectVersions, PutBucketVersioning)
        if virtual_hosted:
            return "/" + key
        return f"/{bucket}/{key}" if key else f"/{bucket}"
    pick = rng.random()
    if pick < 0.5:
        return "/"
    segments = [random_string(rng, SEGMENT_ALPHABET, 0, 8) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.3:
        segments.insert(rng.randrange(len(segments) + 1), rng.choice([".", "..", ""]))
    path = "/" + "/".join(segments)
    if rng.random() < 0.2:
        path += "/"
    return path


def random_query(rng, service):
    params = []
    bare = None
    if service == "s3" and rng.random() < 0.25:
        bare = rng.choice(["versions", "versioning", "uploads", "tagging"])
    for _ in range(rng.choice([0, 0, 1, 2, 3, 4, 5])):
        key = rng.choice(QUERY_KEYS)
        value = rng.choice(QUERY_VALUES)
        if key == "prefix" and rng.random() < 0.6:
            value = rng.choice(["env:/dev/api/terraform.tfstate", "env:/", "api/terraform.tfstate", "a b/c"])
        params.append((key, value))
        if rng.random() < 0.15:
            params.append((key, rng.choice(QUERY_VALUES)))  # a repeated key
    return bare, params


def random_headers(rng, service, method):
    headers = []
    if service in JSON_TARGETS and method == "POST" and rng.random() < 0.8:
        prefix, content_type, operations = JSON_TARGETS[service]
        headers.append(("Content-Type", content_type))
        headers.append(("X-Amz-Target", f"{prefix}.{rng.choice(operations)}"))
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        name, values = rng.choice(HEADER_POOL)
        if any(n.lower() == name.lower() for n, _ in headers) and rng.random() < 0.5:
            continue
        headers.append((name, rng.choice(values)))
    if rng.random() < 0.1:
        headers.append(("X-Amz-Meta-Dup", "first"))
        headers.append(("x-amz-meta-dup", "  second   value "))
    if service != "s3" and rng.random() < 0.05:
        headers.append(("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"))
    return headers


def random_time(rng):
    start = datetime.datetime(2015, 1, 1)
    return start + datetime.timedelta(seconds=rng.randrange(0, 20 * 365 * 24 * 3600))


def sign(vector):
    credentials = Credentials(vector["access_key"], vector["secret_key"], vector["session_token"] or None)
    signer_cls = CapturingS3SigV4 if vector["service"] == "s3" else CapturingSigV4
    signer = signer_cls(credentials, vector["service"], vector["region"])
    request = AWSRequest(method=vector["method"], url=vector["url"], data=vector["body"].encode("utf-8"))
    for name, value in vector["headers"]:
        request.headers[name] = value  # HTTPHeaders appends: repeated names stay repeated
    when = datetime.datetime.strptime(vector["timestamp"], "%Y%m%dT%H%M%SZ")
    original = auth.get_current_datetime
    auth.get_current_datetime = lambda *args, **kwargs: when
    try:
        signer.add_auth(request)
    finally:
        auth.get_current_datetime = original
    added = {}
    for name in ("X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"):
        if name in request.headers:
            added[name] = request.headers[name]
    return {
        "canonical_request": signer.captured_canonical_request,
        "string_to_sign": signer.captured_string_to_sign,
        "authorization": request.headers["Authorization"],
        "headers_added": added,
    }


def make_vector(rng, index):
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    bucket = rng.choice(BUCKETS)
    endpoint, virtual_hosted = random_endpoint(rng, service, region, bucket)
    method = rng.choice(METHODS)
    raw_path = random_raw_path(rng, service, bucket, virtual_hosted)
    bare, params = random_query(rng, service)
    url = endpoint + percent_encode(raw_path, safe="/~")
    query = percent_encode_sequence(params)
    if bare and query:
        url += f"?{bare}&{query}"
    elif bare:
        url += f"?{bare}"
    elif query:
        url += f"?{query}"
    temporary = rng.random() < 0.5
    body = rng.choice(BODIES).decode("utf-8") if method in ("POST", "PUT") or rng.random() < 0.1 else ""
    vector = {
        "id": index,
        "service": service,
        "region": region,
        "method": method,
        "endpoint": endpoint,
        "raw_path": raw_path,
        "raw_query": ([[bare, ""]] if bare else []) + [[k, v] for k, v in params],
        "url": url,
        "headers": [[n, v] for n, v in random_headers(rng, service, method)],
        "body": body,
        "access_key": random_access_key(rng, temporary),
        "secret_key": random_secret(rng),
        "session_token": random_token(rng) if temporary else "",
        "timestamp": random_time(rng).strftime("%Y%m%dT%H%M%SZ"),
    }
    vector["expected"] = sign(vector)
    return vector


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON vectors")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20260126)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vectors = [make_vector(rng, i) for i in range(args.count)]
    document = {
        "generator": "tests/aws/gen_sigv4_vectors.py",
        "botocore_version": botocore.__version__,
        "seed": args.seed,
        "vectors": vectors,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1, ensure_ascii=True)
    services = {}
    for v in vectors:
        services[v["service"]] = services.get(v["service"], 0) + 1
    print(f"wrote {len(vectors)} SigV4 vectors signed by botocore {botocore.__version__} to {args.out} "
          f"({', '.join(f'{k}: {n}' for k, n in sorted(services.items()))})")


if __name__ == "__main__":
    main()
