"""camlab: the simulated site of cameras that camaudit is tried, tested and benchmarked on.

It sits beside the camaudit package in the repository and is not part of camaudit's wheel.
"""
