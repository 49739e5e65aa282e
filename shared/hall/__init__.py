"""The service hall (服务大厅, issue 17): bookable slots and appointments (预约), queue
tickets and calling (取号、叫号), the hall display.

Pure rules (policy, slots, tickets, appointments) are plain Python the tests call
directly; `store.HallStore` does the database work of one station atomically; the
nameko provider is services/hall.py and the HTTP API services/gateway/hall.py.
"""
