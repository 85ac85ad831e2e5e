"""Versioned schema migrations. Append only: never edit a released migration.

A test checks that the tables after all migrations match the record types in ``schemas``.
"""

from __future__ import annotations

from schemas.provenance import SOURCE_PROVENANCE_SQL

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "core tables",
        """
        CREATE TABLE problems (
            problem_id VARCHAR PRIMARY KEY,
            domain VARCHAR NOT NULL,
            statement VARCHAR NOT NULL,
            answer VARCHAR NOT NULL,
            verifier VARCHAR NOT NULL,
            task VARCHAR,
            source VARCHAR NOT NULL,
            source_ref VARCHAR,
            parent_id VARCHAR,
            solution VARCHAR,
            extra JSON,
            method_meta JSON,
            created_run VARCHAR,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE synth_attempts (
            attempt_id VARCHAR PRIMARY KEY,
            run_id VARCHAR,
            method VARCHAR NOT NULL,
            parent_id VARCHAR,
            prompt VARCHAR,
            output VARCHAR,
            candidate VARCHAR,
            candidate_answer VARCHAR,
            accepted BOOLEAN NOT NULL,
            reason VARCHAR,
            problem_id VARCHAR,
            meta JSON,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE policies (
            policy_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            model_path VARCHAR NOT NULL,
            revision VARCHAR,
            parent_policy_id VARCHAR,
            curriculum_id VARCHAR,
            meta JSON,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE rollouts (
            rollout_id VARCHAR PRIMARY KEY,
            problem_id VARCHAR NOT NULL,
            policy_id VARCHAR NOT NULL,
            sampling_key VARCHAR NOT NULL,
            sample_idx BIGINT NOT NULL,
            seed BIGINT,
            completion VARCHAR NOT NULL,
            extracted_answer VARCHAR,
            correct BOOLEAN NOT NULL,
            score DOUBLE,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            finish_reason VARCHAR,
            detail VARCHAR,
            run_id VARCHAR,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE difficulty (
            problem_id VARCHAR NOT NULL,
            policy_id VARCHAR NOT NULL,
            sampling_key VARCHAR NOT NULL,
            n BIGINT NOT NULL,
            c BIGINT NOT NULL,
            pass_at_1 DOUBLE NOT NULL,
            pass_at_k MAP(BIGINT, DOUBLE) NOT NULL,
            estimated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (problem_id, policy_id, sampling_key)
        );
        CREATE TABLE lean_checks (
            check_id VARCHAR PRIMARY KEY,
            problem_id VARCHAR NOT NULL,
            formal_statement VARCHAR NOT NULL,
            compiles BOOLEAN,
            critic_verdict VARCHAR,
            messages JSON,
            toolchain VARCHAR,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE curricula (
            curriculum_id VARCHAR PRIMARY KEY,
            policy_id VARCHAR,
            rule JSON NOT NULL,
            n_items BIGINT NOT NULL,
            n_shards BIGINT NOT NULL,
            out_dir VARCHAR NOT NULL,
            manifest_sha256 VARCHAR,
            run_id VARCHAR,
            created_at TIMESTAMPTZ NOT NULL
        );
        CREATE TABLE curriculum_items (
            curriculum_id VARCHAR NOT NULL,
            position BIGINT NOT NULL,
            problem_id VARCHAR NOT NULL,
            shard BIGINT NOT NULL,
            PRIMARY KEY (curriculum_id, position)
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            flow VARCHAR NOT NULL,
            prefect_run_id VARCHAR,
            config_hash VARCHAR,
            code_version VARCHAR,
            status VARCHAR NOT NULL,
            counts JSON,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ
        );
        CREATE TABLE quarantine (
            quarantine_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            locator VARCHAR NOT NULL,
            reason VARCHAR NOT NULL,
            raw VARCHAR,
            run_id VARCHAR,
            created_at TIMESTAMPTZ NOT NULL
        );
        """,
    ),
    (
        2,
        "CHAMP concepts and hints (MathSmith samples concepts from here)",
        """
        CREATE TABLE concepts (
            concept_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            name VARCHAR,
            text VARCHAR NOT NULL,
            category VARCHAR,
            parent_concept_id VARCHAR
        );
        CREATE TABLE hints (
            hint_id VARCHAR PRIMARY KEY,
            source VARCHAR NOT NULL,
            text VARCHAR NOT NULL
        );
        """,
    ),
    (
        3,
        "filter verdicts: one row per (problem, filter), keep or drop with the reason",
        """
        CREATE TABLE filter_verdicts (
            problem_id VARCHAR NOT NULL,
            filter VARCHAR NOT NULL,
            keep BOOLEAN NOT NULL,
            reason VARCHAR,
            detail JSON,
            run_id VARCHAR,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (problem_id, filter)
        );
        """,
    ),
]

MIGRATIONS.append(
    (
        4,
        "rollouts record their answer-extraction mode (strict | flexible)",
        "ALTER TABLE rollouts ADD COLUMN extraction VARCHAR;",
    )
)

MIGRATIONS.append(
    (
        5,
        "filter verdicts record their filter's config hash: a changed config re-evaluates",
        "ALTER TABLE filter_verdicts ADD COLUMN config_hash VARCHAR;",
    )
)

MIGRATIONS.append(
    (
        6,
        "Absolute Zero's reference buffers: every valid proposed task, per task type",
        """
    CREATE TABLE azr_buffer (
        entry_id VARCHAR PRIMARY KEY,
        task VARCHAR NOT NULL,
        program VARCHAR NOT NULL,
        input VARCHAR,
        output VARCHAR,
        io JSON,
        attempt_id VARCHAR,
        policy_id VARCHAR,
        run_id VARCHAR,
        added_at TIMESTAMPTZ NOT NULL
    );
    """,
    )
)

MIGRATIONS.append(
    (
        7,
        "local linked corpora (FOLDOC, Jargon File): documents and their cross-links",
        """
    CREATE TABLE documents (
        doc_id VARCHAR PRIMARY KEY,
        corpus VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        text VARCHAR NOT NULL,
        headwords VARCHAR,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE links (
        src_id VARCHAR NOT NULL,
        anchor VARCHAR NOT NULL,
        dst_id VARCHAR,
        corpus VARCHAR NOT NULL,
        PRIMARY KEY (src_id, anchor)
    );
    """,
    )
)

MIGRATIONS.append(
    (
        8,
        "Lean checks record their compile status, attempts, formalizer policy and run",
        """
    ALTER TABLE lean_checks ADD COLUMN status VARCHAR;
    ALTER TABLE lean_checks ADD COLUMN attempts BIGINT;
    ALTER TABLE lean_checks ADD COLUMN policy_id VARCHAR;
    ALTER TABLE lean_checks ADD COLUMN run_id VARCHAR;
    """,
    )
)

MIGRATIONS.append(
    (
        9,
        "problems record how their answer is known (label provenance) and the label checks it passed",
        f"""
    ALTER TABLE problems ADD COLUMN label_provenance VARCHAR DEFAULT 'ground_truth';
    UPDATE problems SET label_provenance = {SOURCE_PROVENANCE_SQL};
    ALTER TABLE problems ALTER COLUMN label_provenance SET NOT NULL;
    ALTER TABLE problems ADD COLUMN label_checks JSON;
    """,
    )
)

MIGRATIONS.append(
    (
        10,
        "every synthesis attempt is proposer training data: the policy, the whole chat, the sampling, its group, its reward",
        """
    ALTER TABLE synth_attempts ADD COLUMN policy_id VARCHAR;
    ALTER TABLE synth_attempts ADD COLUMN chat JSON;
    ALTER TABLE synth_attempts ADD COLUMN sampling JSON;
    ALTER TABLE synth_attempts ADD COLUMN group_id VARCHAR;
    ALTER TABLE synth_attempts ADD COLUMN reward DOUBLE;
    """,
    )
)

MIGRATIONS.append(
    (
        11,
        "difficulty rows record how many measurement rounds they pool (a screened round takes screen or n samples)",
        "ALTER TABLE difficulty ADD COLUMN rounds BIGINT;",
    )
)

MIGRATIONS.append(
    (
        12,
        "runs record the process that owns them, so that a run whose process died is marked crashed",
        """
    ALTER TABLE runs ADD COLUMN host VARCHAR;
    ALTER TABLE runs ADD COLUMN pid BIGINT;
    ALTER TABLE runs ADD COLUMN process VARCHAR;
    ALTER TABLE runs ADD COLUMN noticed_at TIMESTAMPTZ;
    """,
    )
)

# the data directory is the folder of the database file: paths inside it become relative to it
_DATA_DIR = (
    "(SELECT regexp_replace(path, '/[^/]*$', '') AS dir FROM duckdb_databases() "
    "WHERE database_name = current_database()) AS data"
)
MIGRATIONS.append(
    (
        13,
        "policies' model folders and curricula's folders inside the data directory are stored relative to it, "
        "so that a copied or moved data directory keeps working",
        f"""
    UPDATE policies SET model_path = substr(policies.model_path, length(data.dir) + 2) FROM {_DATA_DIR}
    WHERE starts_with(policies.model_path, data.dir || '/');
    UPDATE curricula SET out_dir = substr(curricula.out_dir, length(data.dir) + 2) FROM {_DATA_DIR}
    WHERE starts_with(curricula.out_dir, data.dir || '/');
    """,
    )
)

LATEST_VERSION = MIGRATIONS[-1][0]
