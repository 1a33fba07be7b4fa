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


def foundry_clients(out):
    """Issue 11 item 9: the stock openai-python `OpenAI` client on a Foundry account's
    /openai/v1/ with an azure-identity bearer-token provider as `api_key`, and azure-ai-projects'
    AIProjectClient listing agents on a project; each for every FIDELITY_FOUNDRY_* identity.
    Records what the client returned or raised (type, status, error code, message), never a
    token: only the claims of the token the provider minted."""
    from azure.identity import get_bearer_token_provider

    account = os.environ["FIDELITY_FOUNDRY_ACCOUNT"]
    project = os.environ["FIDELITY_FOUNDRY_PROJECT"]
    v1 = "https://{}.services.ai.azure.com/openai/v1/".format(account)
    endpoint = "https://{}.services.ai.azure.com/api/projects/{}".format(account, project)

    def failure(e):
        err = {"error_type": type(e).__module__ + "." + type(e).__name__}
        err["status"] = getattr(e, "status_code", None)
        body = getattr(e, "body", None)  # openai: the parsed `error` object
        code = body.get("code") if isinstance(body, dict) else None
        azure_error = getattr(e, "error", None)  # azure-core: the parsed OData error
        code = code or getattr(azure_error, "code", None)
        err["code"] = code
        err["message"] = str(e)[:600]
        return err

    def openai_models(cred, scope):
        from openai import OpenAI

        provider = get_bearer_token_provider(cred, scope)
        result = {"claims": claims(provider())}
        try:
            client = OpenAI(base_url=v1, api_key=provider, max_retries=0)
            result["models"] = [m.id for m in client.models.list().data]
        except Exception as e:
            result.update(failure(e))
        return result

    def project_agents(cred, **options):
        from azure.ai.projects import AIProjectClient

        try:
            client = AIProjectClient(endpoint=endpoint, credential=cred, **options)
            return {"agents": [a.name for a in client.agents.list(limit=1)]}
        except Exception as e:
            return failure(e)

    found = {}
    for name in os.environ["FIDELITY_FOUNDRY_IDENTITIES"].split(","):
        client_id, secret = os.environ["FIDELITY_FOUNDRY_" + name.upper().replace("-", "_")].split(":", 1)
        cred = ClientSecretCredential(tenant, client_id, secret)
        found[name] = {
            "openai_v1_ai_audience": openai_models(cred, "https://ai.azure.com/.default"),
            "openai_v1_cognitive_audience": openai_models(cred, SCOPE),
            "project_agents": project_agents(cred),
            # The client's documented `credential_scopes` option set to the classic audience,
            # as code that reuses an Azure OpenAI setting does: the project gateway's 401.
            "project_agents_cognitive_audience": project_agents(cred, credential_scopes=[SCOPE]),
        }
    out["foundry"] = found


if os.environ.get("FIDELITY_PART") == "foundry":
    # The Rust test for Foundry runs only its own part.
    tenant = os.environ["AZURE_TENANT_ID"]
    out = {}
    foundry_clients(out)
    json.dump(out, sys.stdout)
    sys.exit(0)

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



# --- Microsoft Graph and PIM (issue 10) -------------------------------------------------------
def graph_and_pim():
    """Graph with plain `requests` and an azure-identity token (alice through the CLI may read the
    directory; the client-secret service principal may not), and a PIM eligibility listing
    through azure-mgmt-authorization."""
    import requests

    base = "https://graph.microsoft.com/v1.0"
    alice = os.environ["FIDELITY_ALICE_OID"]
    result = {}
    try:
        token = AzureCliCredential().get_token("https://graph.microsoft.com/.default").token
        headers = {"Authorization": "Bearer " + token}
        user = requests.get(base + "/users/alice@contoso.com", headers=headers, timeout=30)
        sps = requests.get(
            base + "/servicePrincipals",
            params={"$filter": "appId eq '" + client + "'"},
            headers=headers,
            timeout=30,
        )
        member = requests.post(
            base + "/directoryObjects/" + alice + "/checkMemberGroups",
            json={"groupIds": [os.environ["FIDELITY_GROUP_OID"]]},
            headers=headers,
            timeout=30,
        )
        sp_token = ClientSecretCredential(tenant, client, os.environ["FIDELITY_SECRET"]).get_token(
            "https://graph.microsoft.com/.default"
        ).token
        denied = requests.get(
            base + "/users/alice@contoso.com", headers={"Authorization": "Bearer " + sp_token}, timeout=30
        )
        result["graph"] = {
            "user": {"status": user.status_code, "body": user.json()},
            "service_principals": {"status": sps.status_code, "body": sps.json()},
            "check_member_groups": {"status": member.status_code, "body": member.json()},
            "denied": {"status": denied.status_code, "body": denied.json()},
        }
    except Exception as e:
        result["graph"] = {"error": type(e).__name__ + ": " + str(e)[:400]}
    try:
        cred = ClientSecretCredential(tenant, client, os.environ["FIDELITY_SECRET"])
        arm = AuthorizationManagementClient(cred, os.environ["FIDELITY_SUBSCRIPTION"])
        scope = "/subscriptions/" + os.environ["FIDELITY_SUBSCRIPTION"]
        listed = arm.role_eligibility_schedule_instances.list_for_scope(
            scope, filter="assignedTo('{}')".format(alice)
        )
        result["pim_eligible"] = [
            {
                "principal_id": e.principal_id,
                "role": e.role_definition_id.rsplit("/", 1)[-1],
                "scope": e.scope,
                "status": e.status,
            }
            for e in listed
        ]
    except Exception as e:
        result["pim_eligible"] = {"error": type(e).__name__ + ": " + str(e)[:400]}
    try:
        # alice's own active assignments as PIM lists them, asTarget() with her CLI login.
        arm = AuthorizationManagementClient(AzureCliCredential(), os.environ["FIDELITY_SUBSCRIPTION"])
        scope = "/subscriptions/" + os.environ["FIDELITY_SUBSCRIPTION"]
        listed = arm.role_assignment_schedule_instances.list_for_scope(scope, filter="asTarget()")
        result["pim_active"] = [
            {
                "principal_id": a.principal_id,
                "role": a.role_definition_id.rsplit("/", 1)[-1],
                "scope": a.scope,
                "assignment_type": a.assignment_type,
                "end": a.end_date_time.isoformat() if a.end_date_time else None,
                "origin": a.origin_role_assignment_id,
            }
            for a in listed
        ]
    except Exception as e:
        result["pim_active"] = {"error": type(e).__name__ + ": " + str(e)[:400]}
    return result


out.update(graph_and_pim())

try:
    foundry_clients(out)
except Exception as e:
    out["foundry"] = {"error": type(e).__name__ + ": " + str(e)[:400]}

json.dump(out, sys.stdout)
