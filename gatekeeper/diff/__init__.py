"""The change a merge request makes: found from git or a diff file, and the reports' paths mapped onto it.

`load.load_change` decides which change (flags, else the CI's merge-request base) and computes it;
`paths.align_inputs` re-keys the reports' files onto repository paths so the change's files meet them.
"""
