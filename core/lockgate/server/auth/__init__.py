"""Server auth: users with bcrypt-hashed passwords, API tokens, and READ/EDIT/MANAGE grants
per experiment and per registered model. Off by default on loopback."""

__all__: list[str] = []
