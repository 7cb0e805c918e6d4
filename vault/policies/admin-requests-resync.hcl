# Policy for the weekly repodata resync's vault token (role admin-requests-resync).
# Everything not listed is denied: it cannot read the job secret (the anaconda.org
# password), only sign the App JWT that mints its one installation token (the patches
# feedstock, contents and issues). Rendered by admin_requests.deploy.vault, which fills
# ${transit_mount} and ${transit_key}.

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
