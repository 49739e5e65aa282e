"""The district's complete record of every case, for questions from other stations."""
from services.cases.desk import CaseDeskProvider
from services.consumers import rpc  # nameko's rpc, surviving a lost broker connection
from shared.cases import schemas
from shared.cases.citizen_id import digits_match


class CaseRecordsService:
    name = "cases"  # served as cases_<district code>

    desk = CaseDeskProvider()

    @rpc
    def find(self, case_no, id_last4):
        """What the residents' status page shows of a case, if the last 4 characters of
        the applicant's ID number match; None otherwise (unknown or wrong digits alike).
        Never the whole case: any station may ask."""
        case = self.desk.find(case_no)
        if case is None or not digits_match(case, id_last4):
            return None
        return schemas.public_status(case)
