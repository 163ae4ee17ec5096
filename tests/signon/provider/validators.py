"""The provider's claims (username, e-mail, names and the user's groups) and its fault modes (package docstring)."""

import json
import os
import time
from pathlib import Path

from django.db import transaction
from jwcrypto import jwk, jwt
from oauth2_provider.oauth2_validators import OAuth2Validator


def fault_mode() -> str:
    path = os.environ.get("PROVIDER_FAULT_FILE")
    return Path(path).read_text().strip() if path and Path(path).exists() else ""


class ProviderValidator(OAuth2Validator):
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "groups"}

    def get_additional_claims(self, request):
        user = request.user
        return {
            "preferred_username": user.username,
            "email": user.email,
            "given_name": user.first_name,
            "family_name": user.last_name,
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

    def finalize_id_token(self, id_token, token, token_handler, request):
        mode = fault_mode()
        if mode not in ("forged", "expired"):
            return super().finalize_id_token(id_token, token, token_handler, request)
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:
            id_token["nonce"] = request.nonce
        key = request.client.jwk_key
        header = {"typ": "JWT", "alg": "RS256", "kid": key.thumbprint()}
        if mode == "expired":
            now = int(time.time())
            id_token["iat"], id_token["exp"] = now - 7200, now - 3600
        else:  # forged: the published key id, another key's signature
            key = jwk.JWK.generate(kty="RSA", size=2048)
        signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(id_token, default=str))
        signed.make_signed_token(key)
        with transaction.atomic():
            saved = self._save_id_token(id_token["jti"], request, expiration_time)
        request.access_token = saved
        request.id_token = saved
        return signed.serialize()
