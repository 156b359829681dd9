"""An ENT's SAML IdP, played by pysaml2 (Debian's python3-pysaml2), configured like deployed ENT IdPs:
only the Assertion signed, RSA-SHA1 with SHA-1 digests, Audience = the ACS URL, a transient NameID,
attributes idEnt and GARPersonIdentifiant with NameFormat basic.

Reads a JSON job on stdin: the broker's SP metadata, the IdP key and certificate, the Location the
broker redirected the browser to (HTTP-Redirect AuthnRequest) and the attributes; checks the
AuthnRequest's signature against the SP metadata, then prints {SAMLResponse, RelayState, acs}."""
import json, os, sys, tempfile
from urllib.parse import urlparse, parse_qs

from saml2 import BINDING_HTTP_REDIRECT, BINDING_HTTP_POST, saml
from saml2.config import IdPConfig
from saml2.server import Server
from saml2.saml import NameID, NAMEID_FORMAT_TRANSIENT
from saml2.samlp import STATUS_SUCCESS
from saml2.xmldsig import SIG_RSA_SHA1, DIGEST_SHA1
from saml2.saml import NAME_FORMAT_BASIC
from saml2.sigver import verify_redirect_signature

job = json.load(sys.stdin)
tmp = tempfile.mkdtemp()
def write(name, text):
    p = os.path.join(tmp, name)
    with open(p, 'w') as f:
        f.write(text)
    return p

key = write('idp.key', job['idpKey'])
cert = write('idp.crt', job['idpCert'])
sp_md = write('sp.xml', job['spMetadata'])
conf = IdPConfig()
conf.load({
    'entityid': job['idpEntityId'],
    'key_file': key,
    'cert_file': cert,
    'xmlsec_binary': '/usr/bin/xmlsec1',
    'metadata': {'local': [sp_md]},
    'service': {'idp': {
        'endpoints': {'single_sign_on_service': [(job['ssoUrl'], BINDING_HTTP_REDIRECT)]},
        # Checked below on the redirect binding's detached signature (pysaml2 checks only embedded ones here).
        'want_authn_requests_signed': False,
        'policy': {'default': {'lifetime': {'minutes': 60}, 'attribute_restrictions': None, 'name_form': NAME_FORMAT_BASIC}},
        'name_id_format': [NAMEID_FORMAT_TRANSIENT],
    }},
    'allow_unknown_attributes': True,
})
idp = Server(config=conf)

q = parse_qs(urlparse(job['location']).query)
saml_request = q['SAMLRequest'][0]
relay_state = q['RelayState'][0]
# The AuthnRequest must carry a valid signature by the SP key published in its metadata.
req = idp.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
authn_req = req.message
sp_entity_id = authn_req.issuer.text
msg = {k: v[0] for k, v in q.items()}
certs = [c[-1] if isinstance(c, tuple) else c for c in idp.metadata.certs(sp_entity_id, 'spsso', 'signing')]
if not certs or not any(verify_redirect_signature(msg, idp.sec.sec_backend, cert=c) for c in certs):
    sys.exit('the AuthnRequest signature does not verify with the SP metadata')
if authn_req.force_authn == 'true':
    sys.exit('ForceAuthn must be off')
acs = authn_req.assertion_consumer_service_url

identity = {'idEnt': [job['idEnt']], 'GARPersonIdentifiant': [job['personId']]}
name_id = NameID(format=NAMEID_FORMAT_TRANSIENT, text=job.get('nameId', 'ent-session-0001'),
                 name_qualifier=job['idpEntityId'], sp_name_qualifier=sp_entity_id)
# Audience = the ACS URL, as one deployed ENT does: pysaml2 writes its sp_entity_id argument there.
audience = acs if job.get('audienceIsAcs', True) else sp_entity_id
resp = idp.create_authn_response(
    identity, in_response_to=authn_req.id, destination=acs, sp_entity_id=audience,
    name_id=name_id, authn={'class_ref': 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'},
    sign_response=False, sign_assertion=True, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1,
)
import base64
print(json.dumps({'SAMLResponse': base64.b64encode(str(resp).encode()).decode(), 'RelayState': relay_state, 'acs': acs,
                  'requestId': authn_req.id, 'spEntityId': sp_entity_id}))
