"""``/api/auth/tokens``: API tokens for scripts (the secret is returned once, at creation)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter(prefix="/api/auth/tokens", tags=["auth"])


class TokenView(BaseModel):
    id: str
    name: str
    created_at: float


class NewTokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class NewToken(BaseModel):
    token: str = Field(description="Use as `Authorization: Bearer <token>`. Shown only now.")
    info: TokenView


def _store(request: Request):
    return request.app.state.auth.tokens


@router.get("")
def list_tokens(request: Request) -> list[TokenView]:
    return [TokenView(**t.public()) for t in _store(request).list()]


@router.post("", status_code=201)
def create_token(body: NewTokenRequest, request: Request) -> NewToken:
    info, secret = _store(request).create(body.name)
    return NewToken(token=secret, info=TokenView(**info.public()))


@router.delete("/{token_id}")
def revoke_token(token_id: str, request: Request) -> TokenView:
    return TokenView(**_store(request).revoke(token_id).public())
