"""The emulator stage: each role's access proven on moto with IAM authorization on.

`moto_aws` starts moto (in process or as a loopback server), `matrix` builds and runs the access matrix,
`local` deploys a stack with the real CLI into the emulator (`make local-up`).
"""
