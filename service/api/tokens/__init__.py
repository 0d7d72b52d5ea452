"""Bearer tokens (访问令牌): created and revoked by admins and the CLI; only sha256 hashes are stored."""
