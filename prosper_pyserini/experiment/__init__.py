"""The experiment layer (``prosper-repro``): a declared matrix of systems driven through every stage.

The top of the stack (data → model → train / encode → index → search → eval → experiment): it may import
any stage, and no stage imports it.
"""
