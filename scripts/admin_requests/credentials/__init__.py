"""Per-request credentials from a vault (or AWS), through the job's GitHub OIDC token.

broker.py hands each request exactly the tokens its Access allows and revokes them when
the request is done; factories.py builds it from configuration (``open_broker``);
tokens.py is what a minted credential is (it revokes itself); the backends (vault,
aws, env) prove the job's identity, and the issuers (github_app, anaconda_token, azure)
mint. See docs/security.md.
"""
