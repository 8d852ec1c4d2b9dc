"""The signed-in user and their personal access tokens."""

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Status

from .. import selectors, services
from ..schemas import ErrorOut, IssuedTokenOut, MeOut, TokenIn, TokenOut
from ..security import authenticated

router = Router(tags=["当前用户"])


@router.get("/me", response=MeOut, summary="当前用户、角色与权限标识")
@authenticated
def me(request: HttpRequest):
    return request.auth


@router.get("/tokens", response=list[TokenOut], summary="我的访问令牌")
@authenticated
def list_tokens(request: HttpRequest):
    return selectors.tokens_of(request.auth)


@router.post(
    "/tokens",
    response={201: IssuedTokenOut, 403: ErrorOut},
    summary="为自己签发访问令牌（明文仅返回一次）",
)
@authenticated(session_only=True)
def issue_token(request: HttpRequest, payload: TokenIn):
    # Not idempotent on purpose: the response holds a secret that must never be stored.
    issued = services.issue_token(
        request.auth, name=payload.name, lifetime=dt.timedelta(days=payload.expires_in_days)
    )
    data = TokenOut.from_orm(issued.token).model_dump()
    return Status(201, IssuedTokenOut(**data, token=issued.plaintext))


@router.delete("/tokens/{token_id}", response={204: None, 404: ErrorOut}, summary="撤销我的令牌")
@authenticated
def revoke_token(request: HttpRequest, token_id: int):
    services.revoke_token(request.auth, token_id)
    return Status(204, None)
