"""The district's complete record of every case, for questions from other stations."""
from services.cases.desk import CaseDeskProvider
from services.consumers import rpc  # nameko's rpc, surviving a lost broker connection


class CaseRecordsService:
    name = "cases"  # served as cases_<district code>

    desk = CaseDeskProvider()

    @rpc
    def find(self, case_no):
        """The district's copy of a case (None if unknown); the caller checks the
        applicant's ID digits before showing anything."""
        return self.desk.find(case_no)
