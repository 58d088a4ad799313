/* eslint-disable */
// Generated from schemas/*.schema.json by scripts/gen-types.mjs. Do not edit.

// template.schema.json
/**
 * An amount in the workspace currency ("249.00"), or amounts by ISO 4217 currency code for clinics that sell in another currency, e.g. {USD: "249.00", NOK: "2490.00"}; such a map includes the workspace currency. Prices are never converted.
 */
export type Money = (Amount | {
[k: string]: Amount
})
/**
 * An amount as a decimal string ("249.00") or number, with at most its currency's minor digits (USD 2, JPY 0, KWD 3).
 */
export type Amount = (string | number)
/**
 * Lowercase letters, digits and dashes.
 */
export type Slug = string

/**
 * A txplan treatment plan template: a reusable care plan that clinic staff apply to patients. One template per file, templates/<id>.yaml.
 */
export interface Template {
/**
 * Stable identifier: lowercase letters, digits and dashes. Must equal the file name without .yaml.
 */
id: string
/**
 * Content version, an integer from 1. Bump it on every change so plans can say which version they came from.
 */
version: number
/**
 * The name patients and staff see, e.g. "Comprehensive Acne Resolution".
 */
name: string
/**
 * How the plan is paid: "monthly" (a fixed fee on the 1st of each month) or "pay-as-you-go" (each service at the catalog price when delivered).
 */
type: ("monthly" | "pay-as-you-go")
/**
 * "draft" templates are being written: they validate but cannot be applied yet; "active" ones can be applied to patients; "retired" ones are kept for history and cannot start new plans. Change it with "txplan template status <id> active|retired", which also bumps the version.
 */
status: ("draft" | "active" | "retired")
/**
 * The end goal in one sentence, as told to the patient.
 */
goal: string
/**
 * Optional longer explanation: who the plan is for and why it works.
 */
description?: string
duration: Duration
/**
 * Monthly fee of a monthly plan. Pay-as-you-go plans have no pricing block: each service is charged at its catalog price.
 */
pricing?: {
monthly_fee: Money
}
/**
 * Optional cancellation terms: a minimum term and the fee charged when the plan is cancelled inside it. An early fee needs a minimum term.
 */
cancellation?: {
/**
 * Months the patient commits to; cancelling earlier charges the early fee.
 */
min_term_months?: number
early_fee?: Money
}
/**
 * The professional treatments, in order. Each entry becomes a step of the patient's plan with a recommended date.
 * 
 * @minItems 1
 * @maxItems 200
 */
schedule: [ScheduleEntry, ...(ScheduleEntry)[]]
/**
 * The home-care regimen: products and instructions by time of day.
 * 
 * @maxItems 100
 */
home_care?: HomeCareItem[]
/**
 * Outcomes the patient can expect, and when.
 * 
 * @maxItems 100
 */
milestones?: Milestone[]
/**
 * Follow-up recommendations, and when.
 * 
 * @maxItems 100
 */
follow_up?: FollowUp[]
/**
 * Optional: the clinic ids where this template may be applied. Left out, every clinic may use it.
 * 
 * @minItems 1
 */
clinics?: [Slug, ...(Slug)[]]
/**
 * Free labels for finding templates, e.g. [acne, monthly].
 */
tags?: Slug[]
}
/**
 * A length of time: exactly one of months or weeks.
 */
export interface Duration {
/**
 * Whole months, 1 to 60.
 */
months?: number
/**
 * Whole weeks, 1 to 260.
 */
weeks?: number
}
/**
 * One visit of the plan: when it is recommended and which catalog services it includes.
 */
export interface ScheduleEntry {
when: When
/**
 * Catalog service ids delivered at this visit.
 * 
 * @minItems 1
 */
services: [Slug, ...(Slug)[]]
/**
 * Optional catalog service ids the provider may choose instead, depending on progress.
 */
alternatives?: Slug[]
/**
 * A note for staff and patient, e.g. "Baseline photos".
 */
note?: string
}
/**
 * When something happens, counted from the plan start: {week: N} is start + 7*(N-1) days, {month: N} is start + (N-1) months. 1-based.
 */
export interface When {
/**
 * Week number from the start, 1-based.
 */
week?: number
/**
 * Month number from the start, 1-based.
 */
month?: number
}
/**
 * One part of the home-care regimen.
 */
export interface HomeCareItem {
product?: Slug
/**
 * Times of use: am, pm, daily, weekly, monthly or as-needed.
 * 
 * @minItems 1
 */
when: [("am" | "pm" | "daily" | "weekly" | "monthly" | "as-needed"), ...(("am" | "pm" | "daily" | "weekly" | "monthly" | "as-needed"))[]]
/**
 * How to use it, in the patient's words.
 */
instructions: string
}
/**
 * An expected outcome.
 */
export interface Milestone {
when: When
/**
 * What the patient can expect by then.
 */
expect: string
}
/**
 * A follow-up recommendation.
 */
export interface FollowUp {
when: When
/**
 * What is recommended then.
 */
recommendation: string
}

// catalog.schema.json

/**
 * The clinic's inventory: the services and retail products templates may reference, with prices in the workspace currency (and, where a clinic sells in another, in that currency too).
 */
export interface Catalog {
/**
 * Professional services the clinic delivers.
 */
services: Service[]
/**
 * Retail products for home care.
 */
products: Product[]
}
/**
 * A professional service.
 */
export interface Service {
id: Slug
/**
 * Name shown to staff and patients.
 */
name: string
price: Money
/**
 * Length of a session in minutes, for booking.
 */
minutes: number
/**
 * True when the service is free of charge to plan patients (e.g. a check-in).
 */
complimentary?: boolean
/**
 * Optional short description.
 */
description?: string
}
/**
 * A retail product.
 */
export interface Product {
sku: Slug
/**
 * Name shown to staff and patients.
 */
name: string
price: Money
/**
 * Optional size, e.g. "50 ml".
 */
size?: string
}

// settings.schema.json
/**
 * Workspace settings, txplan.yaml at the root of a txplan workspace.
 */
export interface Settings {
/**
 * The practice's name, shown in handouts and output.
 */
name?: string
/**
 * ISO 4217 currency code for every price in the workspace. Default USD.
 */
currency?: string
/**
 * BCP 47 locale money is written in (handouts, listings, charges), e.g. en-US or nb-NO; a clinic may set its own. Default en-US.
 */
locale?: string
/**
 * IANA time zone, the default for new clinics, e.g. America/New_York.
 */
timezone?: string
/**
 * Paper size for patient handouts.
 */
paper?: ("letter" | "a4")
/**
 * Where patients and plans are kept: a SQLite file path (relative to this folder) or a postgres:// (or postgresql://) URL. Write no password here: use ${VAR} for it (postgres://clinic:${PGPASSWORD}@db.example.org/txplan), or PGPASSWORD / ~/.pgpass. ${VAR} and ${VAR:-default} are read from the environment. --db and TXPLAN_DB override it. Default .txplan/txplan.db.
 */
database?: string
/**
 * Payment processing.
 */
payments?: {
/**
 * "sandbox" (offline test processor) or "stripe".
 */
gateway?: ("sandbox" | "stripe")
/**
 * The Stripe gateway. The secret key is never written here: it comes from the STRIPE_SECRET_KEY environment variable.
 */
stripe?: {
/**
 * "test" takes only test keys (sk_test_…, rk_test_…); "live" takes only live keys and moves real money.
 */
mode?: ("test" | "live")
/**
 * Where the Stripe API is reached, e.g. http://127.0.0.1:12111 for stripe-mock. TXPLAN_STRIPE_API_BASE overrides it. Default https://api.stripe.com.
 */
api_base?: string
/**
 * How many requests may be in flight at once during a billing run.
 */
concurrency?: number
/**
 * The most requests sent in any one second; 0 sets no cap. Default 20 in test mode, 80 in live mode (under Stripe's documented limits).
 */
max_rps?: number
/**
 * How long to wait for one answer before asking again under the same idempotency key.
 */
timeout_seconds?: number
}
}
/**
 * FHIR R4 exports (txplan plan export --format fhir).
 */
fhir?: {
/**
 * The identifier system (a URI) of the practice's medical record numbers, written with each patient's MRN so that another system can match the patient, e.g. https://records.example-clinic.com/mrn, or your EHR's OID as urn:oid:…. Default urn:txplan:mrn:<the practice's name in lowercase letters, digits and dashes>.
 */
patient_identifier_system?: string
}
/**
 * The monthly billing batch.
 */
billing?: {
/**
 * Days to wait before each retry of a declined installment, e.g. [3, 5, 7].
 * 
 * @maxItems 10
 */
retry_days?: number[]
}
}
