"""The OpenAPI document: served without a token, generated from the request models, and
every answer of the API fits its response model."""

from app.blueprints.api import responses
from app.blueprints.api.schemas import CreateRun


def test_the_document_is_served_without_a_token(client, policy):
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    assert document["openapi"] == "3.1.0"
    create = document["components"]["schemas"]["CreateRun"]
    assert set(create["properties"]) == set(CreateRun.model_fields)
    assert create["properties"]["type"]["enum"] == list(policy.names())
    assert create["additionalProperties"] is False
    assert document["paths"]["/openapi.json"]["get"]["security"] == []
    run_answers = document["paths"]["/runs/{run_id}/heartbeat"]["post"]["responses"]
    assert {"200", "404", "409", "422", "429"} <= set(run_answers)


def test_every_answer_fits_its_model(api, tenant, clock):
    created = api.post("/api/v1/runs", json={"type": "baseline_compare", "tenant": "contoso"})
    assert created.status_code == 201
    responses.Run.model_validate(created.get_json())
    run_id = created.get_json()["id"]
    steps = (("start", {}), ("heartbeat", {"processed": 1}), ("complete", {"outcome": "failed"}))
    for action, body in steps:
        answer = api.post(f"/api/v1/runs/{run_id}/{action}", json=body)
        assert answer.status_code == 200
        responses.Run.model_validate(answer.get_json())
    late = api.post(f"/api/v1/runs/{run_id}/heartbeat", json={})
    assert late.status_code == 409
    responses.Error.model_validate(late.get_json())
    responses.RunDetail.model_validate(api.get(f"/api/v1/runs/{run_id}").get_json())
    responses.RunList.model_validate(api.get("/api/v1/runs").get_json())
    responses.Error.model_validate(api.post("/api/v1/runs", json={"type": 1}).get_json())
