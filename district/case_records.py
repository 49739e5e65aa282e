"""The district's complete record of every case, for questions from other stations."""
from services.cases.desk import CaseDeskProvider
from services.consumers import rpc  # nameko's rpc, surviving a lost broker connection
from services.query_code_hashing import matches
from shared.cases import query_codes, schemas


class CaseRecordsService:
    name = "cases"  # served as cases_<district code>

    desk = CaseDeskProvider()

    @rpc
    def find(self, case_no, query_code):
        """What the residents' status page shows of a case, if `query_code` is its query
        code (查询码, checked against the hash in the district's copy); None otherwise —
        unknown case or wrong code alike, after the same hashing work. Never the whole
        case: any station may ask."""
        case = self.desk.find(case_no)
        if not matches(query_codes.seal_of(case), query_codes.normalize(query_code)):
            return None
        return schemas.public_status(case)
