"""What exercises a district rather than runs it: the fault drills (`tongban chaos`), the
benchmarks (`tongban bench`) and the year's simulation (`tongban simulate`), with the two
things they share with the tests: the process harness (harness.py: station processes,
private broker nodes, free ports, waiting) and the scripted staff (staff.py)."""
