"""A seed-style access check, the way people script it before they have a tool: one cell after
another, Python azure-identity for the token, `requests` for the call, optionally a role
assignment listing per cell. Run by benches/peer.rs against the emulator; prints JSON timings.

Input (env): PEER_CELLS, a JSON list of {"source", "scope", "method", "url", "headers", "body",
"speech_resource_id"}; PEER_LIST_ROLES=1 to list role assignments (assignedTo) before each call;
PEER_SUBSCRIPTION; FIDELITY-style credentials from the emulator's env file.
"""
import json
import os
import sys
import time

import requests
from azure.identity import AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential

cells = json.loads(os.environ["PEER_CELLS"])
list_roles = os.environ.get("PEER_LIST_ROLES") == "1"
subscription = os.environ["PEER_SUBSCRIPTION"]


def credential(source):
    if source == "environment":
        return ClientSecretCredential(
            os.environ["AZURE_TENANT_ID"], os.environ["AZURE_CLIENT_ID"], os.environ["AZURE_CLIENT_SECRET"]
        )
    if source == "managed-identity":
        return ManagedIdentityCredential()
    return AzureCliCredential()


started = time.monotonic()
statuses = []
for cell in cells:
    # A script that checks one cell at a time builds its credential per cell, as a loop over
    # (identity, service) pairs does; azure-identity caches tokens per credential object.
    cred = credential(cell["source"])
    token = cred.get_token(cell["scope"]).token
    if list_roles:
        arm = cred.get_token("https://management.azure.com/.default").token
        oid = json.loads(
            __import__("base64").urlsafe_b64decode(token.split(".")[1] + "==")
        )["oid"]
        requests.get(
            "https://management.azure.com/subscriptions/%s/providers/Microsoft.Authorization/roleAssignments" % subscription,
            params={"api-version": "2022-04-01", "$filter": "assignedTo('%s')" % oid},
            headers={"Authorization": "Bearer " + arm},
            timeout=30,
        )
    auth = "Bearer " + token
    if cell.get("speech_resource_id"):
        auth = "Bearer aad#%s#%s" % (cell["speech_resource_id"], token)
    headers = dict(cell["headers"])
    headers["Authorization"] = auth
    body = cell["body"].encode() if cell["body"] is not None else None
    r = requests.request(cell["method"], cell["url"], headers=headers, data=body, timeout=30)
    statuses.append(r.status_code)
json.dump({"seconds": time.monotonic() - started, "cells": len(cells), "statuses": statuses}, sys.stdout)
