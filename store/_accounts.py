"""Local accounts: first-run administrator, sign-in, roles. Passwords are kept only as scrypt hashes."""
from __future__ import annotations

from coverage.errors import AuthenticationError, PermissionDenied, StoreConflict, StoreInputError
from store._base import ADMIN, StoreBase, User, role_allows, role_of, user_name
from store._passwords import burn_time, hash_password, password_problem, verify_password

_WRONG = "账户名或密码不正确。"


class AccountsMixin(StoreBase):

    def has_users(self) -> bool:
        """False until the first account is created (then the store asks for sign-in and roles apply)."""
        with self._b.read() as conn:
            return bool(conn.scalar("SELECT COUNT(*) FROM users"))

    def users(self) -> list[User]:
        with self._b.read() as conn:
            return [User(n, r, conn.read_stamp(at)) for n, r, at in
                    conn.rows("SELECT name, role, created_at FROM users ORDER BY created_at, name")]

    def authenticate(self, name: str, password: str) -> User:
        """The account, when `password` is right; AuthenticationError (same message either way) otherwise."""
        with self._b.read() as conn:
            row = conn.one("SELECT name, role, created_at, password_hash FROM users WHERE name = :n",
                           {"n": str(name or "").strip()})
        if row is None:
            burn_time(str(password))
            raise AuthenticationError(_WRONG)
        if not verify_password(str(password), row[3]):
            raise AuthenticationError(_WRONG)
        return User(row[0], row[1], None)

    def create_user(self, name: str, password: str, role: str, *, by=None) -> User:
        """Create an account. The first account (see `has_users`) needs no `by` and must be 管理;
        later ones are created by a 管理 account `by`."""
        name = str(name or "").strip()
        role = role_of(role)
        problems = [p for p in (password_problem(password),) if p]
        if not name or len(name) > 64 or any(ch in name for ch in "\n\r\t"):
            problems.append("账户名不能为空, 不超过 64 个字符。")
        if problems:
            raise StoreInputError("无法新建账户:", problems)
        hashed = hash_password(password)

        def body(conn, draft):
            first = not conn.scalar("SELECT COUNT(*) FROM users")
            if first and role != ADMIN:
                raise StoreInputError("第一个账户必须是「管理」角色(用于管理其他账户)。")
            if conn.scalar("SELECT COUNT(*) FROM users WHERE name = :n", {"n": name}):
                raise StoreConflict(f"账户「{name}」已存在。", key=name)
            conn.run("INSERT INTO users (name, password_hash, role, created_at, version) VALUES (:n, :h, :r, :at, :v)",
                     {"n": name, "h": hashed, "r": role, "at": conn.stamp(draft.at), "v": draft.change_id})
            draft.summary = f"新建账户「{name}」, 角色「{role}」" + ("(首个管理员)" if first else "")
            draft.extra["always"] = True

        acting = by if by is not None else name  # the first account sets itself up
        self._write(acting, "user_created", body)
        return User(name, role, None)

    def set_role(self, name: str, role: str, by) -> None:
        """Change an account's role (by a 管理 account); the last 管理 cannot be demoted."""
        role = role_of(role)

        def body(conn, draft):
            old = conn.scalar("SELECT role FROM users WHERE name = :n", {"n": name})
            if old is None:
                raise StoreInputError(f"账户「{name}」不存在。")
            if old == ADMIN and role != ADMIN and conn.scalar("SELECT COUNT(*) FROM users WHERE role = :r", {"r": ADMIN}) <= 1:
                raise StoreInputError("这是唯一的「管理」账户, 不能降级; 请先把另一个账户设为「管理」。")
            conn.run("UPDATE users SET role = :r, version = :v WHERE name = :n", {"r": role, "v": draft.change_id, "n": name})
            draft.summary = f"账户「{name}」角色 {old} → {role}"
            draft.extra["always"] = True

        self._write(by, "role_changed", body)

    def set_password(self, name: str, password: str, by) -> None:
        """Set a new password: one's own (any role) or anyone's (管理)."""
        problem = password_problem(password)
        if problem:
            raise StoreInputError(problem)
        hashed = hash_password(password)

        def body(conn, draft):
            acting_role = conn.scalar("SELECT role FROM users WHERE name = :n", {"n": user_name(by)})
            if user_name(by) != name and not role_allows(acting_role or "", ADMIN):
                raise PermissionDenied("只能修改自己的密码; 修改他人密码需要「管理」权限。")
            if not conn.run("UPDATE users SET password_hash = :h, version = :v WHERE name = :n",
                            {"h": hashed, "v": draft.change_id, "n": name}):
                raise StoreInputError(f"账户「{name}」不存在。")
            draft.summary = f"修改账户「{name}」的密码"
            draft.extra["always"] = True

        self._write(by, "password_changed", body)

    def remove_user(self, name: str, by) -> None:
        """Delete an account (by a 管理 account); the last 管理 cannot be removed."""
        def body(conn, draft):
            old = conn.scalar("SELECT role FROM users WHERE name = :n", {"n": name})
            if old is None:
                raise StoreInputError(f"账户「{name}」不存在。")
            if old == ADMIN and conn.scalar("SELECT COUNT(*) FROM users WHERE role = :r", {"r": ADMIN}) <= 1:
                raise StoreInputError("这是唯一的「管理」账户, 不能删除。")
            conn.run("DELETE FROM users WHERE name = :n", {"n": name})
            draft.summary = f"删除账户「{name}」(原角色「{old}」)"
            draft.extra["always"] = True

        self._write(by, "user_removed", body)
