#!/usr/bin/python3
"""Independent checks of a gar-broker SAML Response, with two implementations that are not samlify:
python3-saml (OneLogin, over xmlsec) and Lasso (Entr'ouvert). Reads a JSON job on stdin, prints JSON.

job: {"samlResponse": base64, "idpMetadata": xml, "idpCert": pem, "idpEntityId": str,
      "spEntityId": str, "acsUrl": str, "spKey": pem, "spCert": pem, "encrypted": bool}
"""
import json
import sys
from urllib.parse import urlparse


def onelogin(job):
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings

    settings = OneLogin_Saml2_Settings({
        "strict": True,
        "sp": {
            "entityId": job["spEntityId"],
            "assertionConsumerService": {"url": job["acsUrl"], "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"},
            "NameIDFormat": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "x509cert": job["spCert"], "privateKey": job["spKey"],
        },
        "idp": {
            "entityId": job["idpEntityId"],
            "singleSignOnService": {"url": job["idpEntityId"], "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "x509cert": job["idpCert"],
        },
        "security": {
            "wantMessagesSigned": True, "wantAssertionsSigned": True,
            "wantAssertionsEncrypted": bool(job.get("encrypted")),
            "rejectDeprecatedAlgorithm": True,
        },
    }, sp_validation_only=True)
    acs = urlparse(job["acsUrl"])
    request = {"https": "on" if acs.scheme == "https" else "off", "http_host": acs.hostname,
               "server_port": acs.port or (443 if acs.scheme == "https" else 80), "script_name": acs.path,
               "get_data": {}, "post_data": {"SAMLResponse": job["samlResponse"]}}
    response = OneLogin_Saml2_Response(settings, job["samlResponse"])
    valid = response.is_valid(request, raise_exceptions=False)
    out = {"valid": bool(valid), "error": response.get_error()}
    if valid:
        out["nameId"] = response.get_nameid()
        out["attributes"] = response.get_attributes()
    return out


def lasso_check(job):
    import lasso
    sp_metadata = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s">'
        '<md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true" '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%s" index="0"/>'
        '</md:SPSSODescriptor></md:EntityDescriptor>' % (job["spEntityId"], job["acsUrl"]))
    server = lasso.Server.newFromBuffers(sp_metadata, job["spKey"], None, job["spCert"])
    server.addProviderFromBuffer(lasso.PROVIDER_ROLE_IDP, job["idpMetadata"])
    if job.get("encrypted"):
        server.setEncryptionPrivateKeyWithPassword(job["spKey"], None)
    login = lasso.Login(server)
    try:
        login.processAuthnResponseMsg(job["samlResponse"])
        login.acceptSso()
    except lasso.Error as e:
        return {"valid": False, "error": "%s: %s" % (type(e).__name__, e)}
    assertion = login.assertion
    attrs = {}
    for statement in assertion.attributeStatement or []:
        for attribute in statement.attribute:
            values = []
            for value in attribute.attributeValue:
                values.append("".join(node.content if isinstance(node, lasso.MiscTextNode) else node.dump() for node in value.any))
            attrs[attribute.name] = values
    return {"valid": True, "nameId": login.nameIdentifier.content, "attributes": attrs}


def main():
    job = json.load(sys.stdin)
    result = {}
    for name, fn in (("onelogin", onelogin), ("lasso", lasso_check)):
        try:
            result[name] = fn(job)
        except Exception as e:  # an implementation crashing is a failed check, reported as such
            result[name] = {"valid": False, "error": "%s: %s" % (type(e).__name__, e)}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
