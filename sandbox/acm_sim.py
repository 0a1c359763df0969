"""ACM answers as AWS gives them, where moto 5.2 gives more.

moto's ListCertificates returns each certificate's whole DescribeCertificate record (Subject,
Issuer, DomainValidationOptions, ...). Real ListCertificates returns CertificateSummary only
(botocore's acm/2015-12-08 model), so a client that read validation records from it would pass
here and fail on AWS. The sandbox keeps only CertificateSummary's members, taken from the model.
"""

from __future__ import annotations

import json


def install() -> None:
    """Patches moto's ACM responses. Idempotent."""
    import botocore.session
    from moto.acm.responses import AWSCertificateManagerResponse as Responses

    if getattr(Responses, "_sandbox_patched", False):
        return
    summary = botocore.session.get_session().get_service_model("acm").shape_for("CertificateSummary")
    allowed = set(summary.members)
    original = Responses.list_certificates

    def list_certificates(self):
        answer = original(self)
        body = answer if isinstance(answer, str) else answer[0]
        doc = json.loads(body)
        doc["CertificateSummaryList"] = [{k: v for k, v in c.items() if k in allowed}
                                         for c in doc.get("CertificateSummaryList", [])]
        return json.dumps(doc)

    Responses.list_certificates = list_certificates
    Responses._sandbox_patched = True
