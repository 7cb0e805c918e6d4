# Policy for the processing workflow's vault token (role admin-requests-process).
# Everything not listed is denied. Rendered by admin_requests.deploy.vault, which fills
# ${kv_mount}, ${secret_path}, ${transit_mount} and ${transit_key}.

# Read the job's one secret (the anaconda.org machine account's username and password,
# App ids, and the credential for CI providers' App installations).
# No list, no metadata, no other path: a leaked vault token cannot enumerate.
path "${kv_mount}/data/${secret_path}" {
  capabilities = ["read"]
}

# Sign with the GitHub App key. Not transit/keys/* (no export, no rotate, no config),
# not transit/verify or encrypt: signing App JWTs is the only use of the key.
path "${transit_mount}/sign/${transit_key}" {
  capabilities = ["update"]
}
path "${transit_mount}/sign/${transit_key}/sha2-256" {
  capabilities = ["update"]
}

# The token ends itself at the end of the job (the role sets no default policy).
path "auth/token/revoke-self" {
  capabilities = ["update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
