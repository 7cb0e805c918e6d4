# Policy for feedstock creation's vault token (role admin-requests-create-feedstocks,
# the create job of create-feedstocks.yml). Everything not listed is denied: it cannot
# read the job secret (the anaconda.org machine account's password, the CI providers'
# credentials), which creation never uses. It only signs the App JWTs that mint one
# installation token per step (scoped to that step's repositories and permissions) and
# per push (staged-recipes, creation-state/, the run lease). Azure Pipelines, when a
# recipe builds there, comes from Entra ID's federation with the job's OIDC token, not
# from the vault. Rendered by admin_requests.deploy.vault, which fills ${transit_mount}
# and ${transit_key}.

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
