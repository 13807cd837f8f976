"""The storage contract: tests that every :class:`~hyperknob.storages.BaseStorage` must pass.

Subclass :class:`StorageContract` in a test module and implement :meth:`make_storage`; pytest
then runs every ``test_*`` method against the storage. Storages that other handles can reach
(a SQL database, a served in-memory storage) also implement :meth:`make_second_handle`, which
turns on the tests of what one handle sees of another's writes.

Example:
    >>> from hyperknob.storages import InMemoryStorage
    >>> class TestInMemory(StorageContract):
    ...     def make_storage(self):
    ...         return InMemoryStorage()
"""

from hyperknob.testing._storage_contract_objectives import StorageObjectiveChecks
from hyperknob.testing._storage_contract_sharing import StorageSharingChecks
from hyperknob.testing._storage_contract_studies import StorageStudyChecks
from hyperknob.testing._storage_contract_trials import StorageTrialChecks


# pytest runs inherited tests in reverse MRO order, so the mixins are listed last-first:
# the tests run studies, then trials, then shared use, then objectives, as they are defined.
class StorageContract(StorageObjectiveChecks, StorageSharingChecks, StorageTrialChecks,
                      StorageStudyChecks):
    """Pytest test class: the guarantees of :class:`~hyperknob.storages.BaseStorage`.

    Subclasses implement :meth:`make_storage` (a fresh, empty storage per call). Tests get it
    from the ``storage`` fixture, which closes it afterwards. A subclass that needs pytest
    fixtures (a database URL, a temporary directory) can store them on ``self`` from an
    ``autouse`` fixture: pytest builds one instance of the class per test and runs autouse
    fixtures first.
    """
