from __future__ import annotations

from sqlmodel import Session, col, select

from service.storage.models import TokenRow


def by_hash(session: Session, token_sha256: str) -> TokenRow | None:
    return session.exec(select(TokenRow).where(TokenRow.token_sha256 == token_sha256)).first()


def by_name(session: Session, name: str) -> TokenRow | None:
    return session.get(TokenRow, name)


def all_tokens(session: Session) -> list[TokenRow]:
    return list(session.exec(select(TokenRow).order_by(col(TokenRow.name))).all())
