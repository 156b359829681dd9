"""authlib (Debian python3-authlib) as an OpenID client of the broker: code + PKCE S256, the ID token
verified with the provider's JWKS, then userinfo. Prints JSON.
Usage: oidc_authlib.py <issuer> <client_id> <client_secret> <redirect_uri> <idRessource> <gar_session cookie>"""
import json
import sys
from urllib.parse import urljoin

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt

issuer, client_id, client_secret, redirect_uri, resource, cookie = sys.argv[1:7]
meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
verifier = generate_token(48)
client = OAuth2Session(client_id, client_secret, scope="openid scope.gar", redirect_uri=redirect_uri,
                       code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
url, state = client.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier,
                                             nonce=generate_token(16), idRessource=resource)

browser = requests.Session()
name, value = cookie.split("=", 1)
browser.cookies.set(name, value)
for _ in range(10):
    if url.startswith(redirect_uri):
        break
    res = browser.get(url, allow_redirects=False, timeout=10)
    url = urljoin(url, res.headers["location"])
token = client.fetch_token(meta["token_endpoint"], authorization_response=url, code_verifier=verifier)
keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(token["id_token"], keys, claims_options={"iss": {"essential": True, "value": meta["issuer"]},
                                                            "aud": {"essential": True, "value": client_id}})
claims.validate()
userinfo = client.get(meta["userinfo_endpoint"], timeout=10).json()
print(json.dumps({"id_token": dict(claims), "userinfo": userinfo}))
