"""Real Microsoft client libraries, unmodified, against the entraprobe emulator.

Run with only the emulator's env file applied (proxy, CA bundle, credential variables, fake az
first on PATH). Prints one JSON object: for each credential, the oid/aud/appidacr claims of the
token it got (never the token), the role assignments `assignedTo()` listed for alice, and a
Resource Graph inventory query through azure-mgmt-resourcegraph.
"""
import base64
import json
import os
import sys

from azure.identity import (
    AzureCliCredential,
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from azure.mgmt.authorization import AuthorizationManagementClient

SCOPE = "https://cognitiveservices.azure.com/.default"
ARM_SCOPE = "https://management.azure.com/.default"


def claims(token):
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    c = json.loads(base64.urlsafe_b64decode(payload))
    return {k: c.get(k) for k in ("oid", "aud", "appidacr", "tid", "upn", "xms_mirid")}


def attempt(name, make, scope=SCOPE):
    try:
        out[name] = claims(make().get_token(scope).token)
    except Exception as e:  # report, do not crash: the Rust test names what failed
        out[name] = {"error": type(e).__name__ + ": " + str(e)[:400]}


out = {}
tenant = os.environ["AZURE_TENANT_ID"]
client = os.environ["AZURE_CLIENT_ID"]
attempt("client_secret", lambda: ClientSecretCredential(tenant, client, os.environ["FIDELITY_SECRET"]))
attempt("certificate", lambda: CertificateCredential(tenant, client, os.environ["AZURE_CLIENT_CERTIFICATE_PATH"]))
attempt(
    "workload_identity",
    lambda: WorkloadIdentityCredential(
        tenant_id=tenant,
        client_id=os.environ["FIDELITY_WORKLOAD_CLIENT_ID"],
        token_file_path=os.environ["AZURE_FEDERATED_TOKEN_FILE"],
    ),
)
attempt("app_service", lambda: ManagedIdentityCredential())
# ManagedIdentityCredential prefers App Service, then workload identity, then IMDS: hide the
# other two so IMDS (reached through HTTP_PROXY at its hard-coded address) is what answers.
app_service = {
    k: os.environ.pop(k)
    for k in ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_FEDERATED_TOKEN_FILE")
    if k in os.environ
}
attempt("imds", lambda: ManagedIdentityCredential())
attempt("imds_by_client_id", lambda: ManagedIdentityCredential(client_id=os.environ["FIDELITY_VM_MI_CLIENT_ID"]))
os.environ.update(app_service)
attempt("azure_cli", lambda: AzureCliCredential())

try:
    cred = ClientSecretCredential(tenant, client, os.environ["FIDELITY_SECRET"])
    arm = AuthorizationManagementClient(cred, os.environ["FIDELITY_SUBSCRIPTION"])
    scope = "/subscriptions/" + os.environ["FIDELITY_SUBSCRIPTION"]
    listed = arm.role_assignments.list_for_scope(scope, filter="assignedTo('{}')".format(os.environ["FIDELITY_ALICE_OID"]))
    out["assigned_to_alice"] = [
        {"principal_id": a.principal_id, "principal_type": a.principal_type, "role": a.role_definition_id.rsplit("/", 1)[-1], "scope": a.scope}
        for a in listed
    ]
except Exception as e:
    out["assigned_to_alice"] = {"error": type(e).__name__ + ": " + str(e)[:400]}

try:
    from azure.mgmt.resourcegraph import ResourceGraphClient
    from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions

    cred = ClientSecretCredential(tenant, client, os.environ["FIDELITY_SECRET"])
    graph = ResourceGraphClient(cred)
    request = QueryRequest(
        subscriptions=[os.environ["FIDELITY_SUBSCRIPTION"]],
        query="resources | where type =~ 'microsoft.cognitiveservices/accounts' | project id, name, type, kind | order by id asc",
        options=QueryRequestOptions(top=1000, result_format="objectArray"),
    )
    result = graph.resources(request)
    out["resource_graph"] = {
        "total": result.total_records,
        "rows": [{"name": r["name"], "type": r["type"], "kind": r["kind"]} for r in result.data],
    }
except Exception as e:
    out["resource_graph"] = {"error": type(e).__name__ + ": " + str(e)[:400]}

json.dump(out, sys.stdout)
