#!/usr/bin/python3
"""A publisher's SP built on Lasso (Entr'ouvert's SAML library, the one under mod_auth_mellon), run by
Debian's python: it builds the AuthnRequest / LogoutRequest and consumes the broker's answers, so the
broker is tested against an SP stack that is not samlify. Reads a JSON job on stdin, prints JSON.

job: {"cmd": "login"|"consume"|"logout"|"logout-response"|"slo-request",
      "spMetadata", "spKey", "spCert", "idpMetadata", ...}
"""
import json
import sys

import lasso


def server(job):
    s = lasso.Server.newFromBuffers(job["spMetadata"], job["spKey"], None, job["spCert"])
    s.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
    s.addProviderFromBuffer(lasso.PROVIDER_ROLE_IDP, job["idpMetadata"])
    s.setEncryptionPrivateKeyWithPassword(job["spKey"], None)
    return s


def login(job):
    login = lasso.Login(server(job))
    method = lasso.HTTP_METHOD_REDIRECT if job.get("binding", "redirect") == "redirect" else lasso.HTTP_METHOD_POST
    login.initAuthnRequest(None, method)
    req = login.request
    if job.get("nameIdFormat"):
        req.nameIdPolicy.format = job["nameIdFormat"]
    req.nameIdPolicy.allowCreate = True
    req.isPassive = bool(job.get("isPassive"))
    req.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
    if job.get("relayState"):
        login.msgRelayState = job["relayState"]
    login.setSignatureHint(lasso.PROFILE_SIGNATURE_HINT_FORCE if job.get("sign") else lasso.PROFILE_SIGNATURE_HINT_FORBID)
    login.buildAuthnRequestMsg()
    return {"url": login.msgUrl, "body": login.msgBody, "relayState": login.msgRelayState, "requestId": req.iD}


def consume(job):
    login = lasso.Login(server(job))
    try:
        login.processAuthnResponseMsg(job["samlResponse"])
    except lasso.Error as e:
        status = None
        try:
            status = login.response.status.statusCode.value
            sub = login.response.status.statusCode.statusCode
            status = {"code": status, "sub": sub.value if sub else None, "message": login.response.status.statusMessage}
        except Exception:
            pass
        return {"valid": False, "error": "%s: %s" % (type(e).__name__, e), "status": status}
    login.acceptSso()
    attrs = {}
    for statement in login.assertion.attributeStatement or []:
        for attribute in statement.attribute:
            values = []
            for value in attribute.attributeValue:
                values.append("".join(n.content if isinstance(n, lasso.MiscTextNode) else n.dump() for n in value.any))
            attrs[attribute.name] = values
    authn = login.assertion.authnStatement[0]
    return {
        "valid": True,
        "nameId": login.nameIdentifier.content,
        "nameIdFormat": login.nameIdentifier.format,
        "inResponseTo": login.response.inResponseTo,
        "sessionIndex": authn.sessionIndex,
        "authnContext": authn.authnContext.authnContextClassRef,
        "attributes": attrs,
        "session": login.session.dump(),
        "identity": login.identity.dump() if login.identity else None,
    }


def logout(job):
    """An SP-initiated LogoutRequest by HTTP-Redirect, for the session consume() returned."""
    lo = lasso.Logout(server(job))
    lo.setSessionFromDump(job["session"])
    lo.initRequest(None, lasso.HTTP_METHOD_REDIRECT)
    lo.setSignatureHint(lasso.PROFILE_SIGNATURE_HINT_FORCE)
    lo.buildRequestMsg()
    return {"url": lo.msgUrl, "requestId": lo.request.iD}


def logout_response(job):
    lo = lasso.Logout(server(job))
    try:
        lo.processResponseMsg(job["query"])
        return {"valid": True}
    except lasso.Error as e:
        return {"valid": False, "error": "%s: %s" % (type(e).__name__, e)}


def slo_request(job):
    """The broker's LogoutRequest, as the participant SP receives it (query string of the Redirect binding)."""
    lo = lasso.Logout(server(job))
    try:
        lo.processRequestMsg(job["query"])
    except lasso.Error as e:
        return {"valid": False, "error": "%s: %s" % (type(e).__name__, e)}
    return {"valid": True, "nameId": lo.request.nameId.content, "sessionIndex": lo.request.sessionIndex}


def main():
    job = json.load(sys.stdin)
    fn = {"login": login, "consume": consume, "logout": logout, "logout-response": logout_response, "slo-request": slo_request}[job["cmd"]]
    try:
        json.dump(fn(job), sys.stdout)
    except lasso.Error as e:
        json.dump({"valid": False, "error": "%s: %s" % (type(e).__name__, e)}, sys.stdout)


if __name__ == "__main__":
    main()
